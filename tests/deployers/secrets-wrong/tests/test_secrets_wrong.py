def test_the_env_file_is_private_in_the_end(host):
    assert host.file("/etc/secrets-wrong/.env").mode == 0o600
