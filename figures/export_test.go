package figures

// Rows is what the tally holds, for the tests.
func (t *Tally) Rows() map[Key]Delta { return t.rows }
