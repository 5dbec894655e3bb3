package config

import "fmt"

// Reload rereads the configuration the way SIGHUP should: it parses path
// ("" means the file v came from), replays v's command-line overrides so
// that flags keep winning, and validates. It returns the new values with
// the names of the settings whose value changed, split by context:
// applied are "reload" settings the program should now use; needRestart
// are "restart" settings, which keep their old value in next (the running
// program cannot change them) and should be logged, e.g. "setting port
// changed in the file; restart needed".
//
// On error v stays in force and next is nil.
func (v *Values) Reload(path string) (next *Values, applied, needRestart []string, err error) {
	if path == "" {
		path = v.path
	}
	if path == "" {
		return nil, nil, nil, fmt.Errorf("config: reload: no configuration file")
	}
	n, err := v.set.Parse(path)
	if err != nil {
		return nil, nil, nil, err
	}
	for _, o := range v.overrides {
		if err := n.Set(o[0], o[1]); err != nil {
			return nil, nil, nil, fmt.Errorf("config: reload: command line: %w", err)
		}
	}
	for _, st := range v.set.settings {
		if st.equal(v.vals[st.Name], n.vals[st.Name]) {
			continue
		}
		if st.Context == Restart {
			n.vals[st.Name] = v.vals[st.Name]
			n.src[st.Name] = v.src[st.Name]
			needRestart = append(needRestart, st.Name)
		} else {
			applied = append(applied, st.Name)
		}
	}
	if err := n.Validate(); err != nil {
		return nil, nil, nil, err
	}
	return n, applied, needRestart, nil
}
