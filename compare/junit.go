package compare

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
)

// junit* are the JUnit XML elements CI systems read.
type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes the comparison as JUnit XML: one test case a gate,
// named by the gate, whose failure message says what was observed and what
// was allowed, and one test case "valid runs" that fails when a run of
// either side is invalid.
func (c *Comparison) WriteJUnit(w io.Writer) error {
	suite := junitSuite{Name: "perf compare"}
	for _, g := range c.Gates {
		tc := junitCase{Name: g.Gate, Classname: "perf.compare.gate"}
		msg := fmt.Sprintf("%s: observed %s, allowed %s%s", g.Gate, g.Observed, g.Allowed, noteText(g.Note))
		if g.OK {
			tc.SystemOut = msg
		} else {
			tc.Failure = &junitFailure{Message: msg, Type: "gate", Text: msg}
			suite.Failures++
		}
		suite.Cases = append(suite.Cases, tc)
	}
	valid := junitCase{Name: "valid runs", Classname: "perf.compare.validity"}
	if !c.Valid {
		msg := "invalid runs: " + strings.Join(c.InvalidReasons, "; ")
		valid.Failure = &junitFailure{Message: msg, Type: "invalid", Text: msg}
		suite.Failures++
	}
	suite.Cases = append(suite.Cases, valid)
	suite.Tests = len(suite.Cases)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(junitSuites{Suites: []junitSuite{suite}}); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	return nil
}
