package engine

import "time"

// Clock tells the time in Unix nanoseconds. It must be safe for concurrent
// use. Tests inject a manual clock; production uses time.Now.
type Clock interface {
	Now() int64
}

type wallClock struct{}

func (wallClock) Now() int64 { return time.Now().UnixNano() }

// WallClock is the real clock.
var WallClock Clock = wallClock{}
