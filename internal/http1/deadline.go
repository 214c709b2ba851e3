package http1

import "time"

// Deadline is one deadline of a connection: its read deadline, its write
// deadline, or both. It remembers the deadline last set and moves it only
// when it has drifted by more than a tenth of its length: a move costs a
// runtime timer update, about as much as parsing a request, and a deadline
// a tenth off is as good. A busy keep-alive connection then pays a timer
// update a few times a second rather than several times a request, and a
// timeout fires within a tenth of its length of the exact time.
//
// A Deadline belongs to the one goroutine that uses the connection.
type Deadline struct {
	set func(time.Time) error // the connection's SetDeadline, SetReadDeadline or SetWriteDeadline
	at  time.Time             // the deadline last set; zero for none
}

// NewDeadline returns a Deadline that moves with set, such as a
// connection's SetReadDeadline method, and has none set yet.
func NewDeadline(set func(time.Time) error) Deadline { return Deadline{set: set} }

// Near makes the deadline t, unless the one set is within a tenth of
// length of t, earlier or later.
func (d *Deadline) Near(t time.Time, length time.Duration) error {
	if !d.at.IsZero() {
		if off := d.at.Sub(t); off <= length/10 && off >= -length/10 {
			return nil
		}
	}
	return d.Set(t)
}

// By makes the deadline t, unless the one set is earlier than t or later
// by at most a tenth of length. It is for a wait that may end early, such
// as an idle wait with a request's deadline still set: the waiter moves
// the deadline when the early one fires, and most waits end before.
func (d *Deadline) By(t time.Time, length time.Duration) error {
	if !d.at.IsZero() && d.at.Sub(t) <= length/10 {
		return nil
	}
	return d.Set(t)
}

// Set makes the deadline t, whatever the one set.
func (d *Deadline) Set(t time.Time) error {
	d.at = t
	return d.set(t)
}
