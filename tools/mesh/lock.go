package mesh

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// acquireLock makes a second runner on the same data directory fail at once,
// saying where the first one is, instead of fighting over ports and files.
func (m *Mesh) acquireLock() error {
	f, err := os.OpenFile(filepath.Join(m.dataDir, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		var st runState
		if b, rerr := os.ReadFile(filepath.Join(m.dataDir, "state.json")); rerr == nil && json.Unmarshal(b, &st) == nil {
			return fmt.Errorf("a mesh is already running from %s (runner pid %d, %s); stop it with Ctrl-C first", m.dataDir, st.PID, st.URL)
		}
		return fmt.Errorf("a mesh is already running (or starting) from %s; stop it with Ctrl-C first", m.dataDir)
	}
	m.lock = f
	return nil
}

type runState struct {
	PID     int       `json:"pid"`
	URL     string    `json:"url"`
	Started time.Time `json:"started"`
}

func (m *Mesh) writeState() {
	b, _ := json.Marshal(runState{PID: os.Getpid(), URL: m.URL(), Started: time.Now()})
	_ = os.WriteFile(filepath.Join(m.dataDir, "state.json"), b, 0o644)
}
