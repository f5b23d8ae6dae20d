package image

import "sync/atomic"

// pullPoint, set only by tests, is called at named points of a pull, with
// the layer id where there is one: "present" once a layer was found in the
// store (and will be skipped), "blob" once a layer's kept blob has its
// temporary file, "record" before the image record is written. Tests use it
// to run a removal at exactly that point.
var pullPoint atomic.Pointer[func(where, id string)]

// atPullPoint calls pullPoint when set.
func atPullPoint(where, id string) {
	if f := pullPoint.Load(); f != nil {
		(*f)(where, id)
	}
}
