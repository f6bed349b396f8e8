package engine

import (
	"fmt"

	"github.com/tinywatcher/tinywatcher/config"
	"github.com/tinywatcher/tinywatcher/ingest"
)

func newStream(sc config.Stream, opt ingest.Options) (ingest.Source, error) {
	switch sc.Type {
	case "websocket":
		return ingest.NewWebSocket(sc, opt)
	case "http":
		return ingest.NewHTTP(sc, opt)
	case "tcp":
		return ingest.NewTCP(sc, opt)
	}
	return nil, fmt.Errorf("stream type %q is not available in this build yet", sc.Type)
}
