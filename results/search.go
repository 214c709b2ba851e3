package results

import "time"

// SearchSchema is the version of the search.json layout.
const SearchSchema = "perf.search/v1"

// SearchFile is the name of a search directory's summary.
const SearchFile = "search.json"

// Outcomes of a search, as search.json names them (and perf's exit codes
// tell apart).
const (
	// SearchFound: the highest rate meeting the SLOs was bracketed within
	// the precision and confirmed.
	SearchFound = "found"
	// SearchFailsAtMin: the first step, at the minimum rate, failed.
	SearchFailsAtMin = "fails-at-min"
	// SearchPassesAtMax: the maximum rate passed (and was confirmed).
	SearchPassesAtMax = "passes-at-max"
	// SearchGeneratorBound: the generator, not the target, could not keep
	// a step's plan; no capacity can be claimed above GeneratorBoundAt.
	SearchGeneratorBound = "generator-bound"
	// SearchNotConfirmed: the answer's confirmation trials failed and
	// lowering it did not bring one that held.
	SearchNotConfirmed = "not-confirmed"
	// SearchTimeLimit: the time limit ended the search before an answer;
	// HighestPass and LowestFail bracket what was learnt.
	SearchTimeLimit = "time-limit"
	// SearchInterrupted: the search was interrupted (a signal).
	SearchInterrupted = "interrupted"
)

// Verdicts of one search step.
const (
	StepPass           = "pass"
	StepFail           = "fail"
	StepGeneratorBound = "generator-bound"
)

// Search is the content of search.json: every step of perf attack search
// and its answer. Rates are requests per second.
type Search struct {
	Schema      string    `json:"schema"`
	ToolVersion string    `json:"tool_version"`
	Command     []string  `json:"command"`
	StartedAt   time.Time `json:"started_at"`
	ElapsedS    float64   `json:"elapsed_s"`
	Target      string    `json:"target"`
	// SLO are the SLO expressions every step is judged by.
	SLO      []string       `json:"slo"`
	Settings SearchSettings `json:"settings"`
	// Outcome is one of the Search* constants; Message says it in words.
	Outcome string `json:"outcome"`
	Message string `json:"message"`
	// HighestPass is the highest offered rate that passed (confirmed, when
	// the outcome is found), LowestFail the lowest that failed; null when
	// there is none.
	HighestPass *float64 `json:"highest_pass"`
	LowestFail  *float64 `json:"lowest_fail"`
	// GeneratorBoundAt is the offered rate at which the generator could not
	// keep the plan, when it could not.
	GeneratorBoundAt *float64     `json:"generator_bound_at,omitempty"`
	Steps            []SearchStep `json:"steps"`
}

// SearchSettings are the search's parameters as it ran.
type SearchSettings struct {
	Min float64 `json:"min"`
	Max float64 `json:"max"`
	// Growth is the factor between steps until one fails.
	Growth float64 `json:"growth"`
	// Precision is the relative width (0.02 for 2%) at which bisection stops.
	Precision float64 `json:"precision"`
	// Confirmations is the number of repeated trials at the answer.
	Confirmations int     `json:"confirmations"`
	StepS         float64 `json:"step_s"`
	WarmupS       float64 `json:"warmup_s"`
	CooldownS     float64 `json:"cooldown_s"`
	TimeLimitS    float64 `json:"time_limit_s,omitempty"`
}

// Phases of a search step.
const (
	PhaseGrow    = "grow"
	PhaseBisect  = "bisect"
	PhaseConfirm = "confirm"
)

// SearchStep is one trial of a search: a run at one offered rate.
type SearchStep struct {
	Index int `json:"index"`
	// Phase is PhaseGrow, PhaseBisect or PhaseConfirm.
	Phase string `json:"phase"`
	// Offered is the planned rate; Achieved what was sent per second.
	Offered  float64 `json:"offered"`
	Achieved float64 `json:"achieved"`
	// Dir is the step's run directory, relative to the search directory.
	Dir      string      `json:"dir"`
	Requests int64       `json:"requests"`
	Errors   int64       `json:"errors"`
	Latency  Percentiles `json:"latency"` // corrected
	// Verdict is StepPass, StepFail or StepGeneratorBound; Reasons say why
	// a step did not pass (failed SLOs, the generator's reasons).
	Verdict string    `json:"verdict"`
	Reasons []string  `json:"reasons,omitempty"`
	SLO     []Verdict `json:"slo"`
	// EndedEarly says why the step stopped before its planned end.
	EndedEarly string  `json:"ended_early,omitempty"`
	DurationS  float64 `json:"duration_s"`
	// RecoveryS is how long the search waited after the step for the
	// target to answer within the SLO again.
	RecoveryS float64 `json:"recovery_s,omitempty"`
}
