module switchboard.dev/bench/goproxy

go 1.24
