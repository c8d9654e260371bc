"""Short versions of the soak, feedback storm, restart, graceful-shutdown and start-up checks
(`make soak` runs the long soak; the closing note quotes it)."""
from __future__ import annotations

from bench import soak


def test_short_soak_feedback_storm_and_restart(tmp_path):
    report = soak.run(total=1500, clients=8, feedback_clients=8, feedback_items=10,
                      db_url=f"sqlite:///{tmp_path}/soak.db")
    assert report["requests"] == 1500 and report["errors"] == 0
    assert set(report["statuses"]) <= {200, 400}
    assert report["feedback_failed_posts"] == 0
    assert report["feedback_rows_after_restart"] == report["feedback_unique_items"] == 80
    assert report["feedback_duplicates"] == 0 and report["health_after_restart"] == 200
    for pid, after in report["rss_after_mb"].items():
        assert after < report["rss_before_mb"].get(pid, after) + 50  # no runaway growth
    shutdown = report["graceful_shutdown"]
    assert shutdown["status"] == 412 and shutdown["resource"] == "OperationOutcome" and shutdown["exit_code"] == 0
    window = report["start_up_window"]
    assert window.get("correct", 0) > 0 and set(window) <= {"correct", "refused"}


def test_feedback_storm_on_postgres(postgres_url):
    report = soak.run(total=200, clients=4, feedback_clients=8, feedback_items=10, db_url=postgres_url)
    assert report["errors"] == 0 and report["feedback_failed_posts"] == 0
    assert report["feedback_rows_after_restart"] == 80 and report["feedback_duplicates"] == 0
