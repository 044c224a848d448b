from pathlib import Path

from harness.images.content_hash import context_files, hash_tree


def context(tmp_path: Path) -> Path:
    (tmp_path / "scripts").mkdir()
    (tmp_path / "tests").mkdir()
    (tmp_path / "Dockerfile").write_text("FROM base\n")
    (tmp_path / "scripts" / "run.sh").write_text("echo hi\n")
    (tmp_path / "tests" / "test_x.py").write_text("def test(): pass\n")
    (tmp_path / ".dockerignore").write_text("# only what the image needs\ntests/\n")
    return tmp_path


def test_ignored_files_are_not_part_of_the_context(tmp_path: Path) -> None:
    assert context_files(context(tmp_path)) == [".dockerignore", "Dockerfile", "scripts/run.sh"]


def test_editing_an_ignored_test_keeps_the_tag(tmp_path: Path) -> None:
    root = context(tmp_path)
    before = hash_tree(root)
    (root / "tests" / "test_x.py").write_text("def test(): assert 1\n")
    assert hash_tree(root) == before


def test_content_mode_and_extras_change_the_tag(tmp_path: Path) -> None:
    root = context(tmp_path)
    before = hash_tree(root)
    (root / "scripts" / "run.sh").chmod(0o755)
    executable = hash_tree(root)
    assert executable != before
    (root / "scripts" / "run.sh").write_text("echo bye\n")
    assert hash_tree(root) != executable
    assert hash_tree(root, "base:1") != hash_tree(root, "base:2")
