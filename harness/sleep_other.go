//go:build !linux

package harness

import (
	"errors"
	"time"
)

// sleeper has no timerfd here (see sleep_linux.go): workers use time.Sleep.
type sleeper struct{}

func newSleeper() (*sleeper, error) { return nil, errors.New("no timerfd on this system") }

func (s *sleeper) sleep(time.Duration) error { return errors.New("no timerfd") }
func (s *sleeper) close()                    {}
