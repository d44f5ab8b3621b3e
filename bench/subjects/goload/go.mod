module switchboard.dev/bench/goload

go 1.24
