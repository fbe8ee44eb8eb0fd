"""nbgrader's gradebook schema revision is read in-process, once (nmautils.course.grading)."""

import os
import subprocess
import sys
from pathlib import Path

from nmautils.course import grading


def test_the_revision_read_in_process_is_what_alembic_prints():
    from nbgrader.dbutil import _temp_alembic_ini

    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent),
                                                  os.environ.get("PATH", "")])}
    with _temp_alembic_ini("sqlite:////tmp/gradebook.db") as ini:
        printed = subprocess.run(["alembic", "-c", ini, "heads"], check=True, capture_output=True,
                                 text=True, env=env).stdout
    assert printed.split()[0] == grading.alembic_head()


def test_new_gradebooks_are_stamped_without_running_alembic(tmp_path, monkeypatch):
    import nbgrader.api
    from sqlalchemy import create_engine, text

    head = grading.use_in_process_alembic_head()
    assert grading.use_in_process_alembic_head() == head  # idempotent
    assert nbgrader.api.get_alembic_version() == head
    # no alembic (nor anything else) on PATH: shelling out would fail
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    db = tmp_path / "gradebook.db"
    with nbgrader.api.Gradebook(f"sqlite:///{db}"):
        pass
    with create_engine(f"sqlite:///{db}").connect() as conn:
        stamped = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    assert stamped == head
