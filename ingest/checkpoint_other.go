//go:build !unix

package ingest

import "os"

// fileID is unknown here: positions carry offsets only.
func fileID(os.FileInfo) (dev, ino uint64, ok bool) { return 0, 0, false }
