from smartfab.bench.twin import bench_speed, speed_line


def test_speed_run_reports_its_figures() -> None:
    line = speed_line(20)
    assert len(line.stations) == 20 and all(s.stops and s.setup for s in line.stations)
    f = bench_speed(stations=5, days=3)
    assert f["stations"] == 5 and f["events"] > 0 and f["parts_out"] > 0
    assert f["events_per_s"] > 0 and f["station_cycles"] >= f["parts_out"]
