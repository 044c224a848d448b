def test_greeting_from_the_overlay(host):
    greeting = host.file("/etc/hello/greeting.conf")
    assert greeting.content_string == "hello from the overlay\n"


def test_env_is_private(host, secrets):
    env = host.file("/etc/hello/.env")
    assert env.mode == 0o600
    assert env.content_string == f"TOKEN={secrets['hello-secrets']['HELLO_TOKEN']}\n"
