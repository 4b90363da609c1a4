import json
from pathlib import Path

from typer.testing import CliRunner

from smartfab.apps.twin.model import Buffer, Calendar, Dist, LineTwin, Station, TwinParams
from smartfab.cli.twin import app

runner = CliRunner()


def test_help_explains_every_command() -> None:
    for cmd in ("calibrate", "validate", "whatif"):
        r = runner.invoke(app, [cmd, "--help"])
        assert r.exit_code == 0, r.output
        assert "twin" in r.output.lower() or "history" in r.output.lower()


def test_whatif_on_a_parameter_file(tmp_path: Path) -> None:
    line = LineTwin(
        line="s/a/l",
        stations=[Station(name=n, ideal_cycle_s=c, cycle_s=Dist(mean=c, cv=0.2))
                  for n, c in (("s1", 20.0), ("s2", 40.0))],
        buffers=[Buffer(capacity=2)],
        calendar=Calendar(week=["Mon 00:00-24:00 production"]),
    )  # fmt: skip
    params = tmp_path / "twin.yaml"
    TwinParams(lines=[line]).save(params)
    r = runner.invoke(app, [
        "whatif", "--params", str(params), "--machine", "s2=1", "--days", "1", "--warmup", "0.1",
        "--replications", "3", "--workers", "1", "--json",
    ])  # fmt: skip
    assert r.exit_code == 0, r.output
    result = json.loads(r.output.strip().splitlines()[-1])
    assert result["baseline"]["bottleneck"] == "s2"
    assert (
        result["scenario"]["throughput_per_h"]["mean"]
        > result["baseline"]["throughput_per_h"]["mean"]
    )
    bad = runner.invoke(app, ["whatif", "--params", str(params), "--machine", "s2"])
    assert bad.exit_code != 0
