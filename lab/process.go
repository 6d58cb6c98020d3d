package lab

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// component is one control-plane process and its log file.
type component struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{} // closed when the process has exited
	err     error         // exit error, valid after done
}

// startComponent runs binary with args, its output going to dir/name.log.
// The process gets its own process group so Close can stop its children too.
func startComponent(dir, name, binary string, args []string) (*component, error) {
	logPath := filepath.Join(dir, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("create %s log: %w", name, err)
	}
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s (%s): %w", name, binary, err)
	}
	c := &component{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		logFile.Close()
		close(c.done)
	}()
	return c, nil
}

// exited reports whether the process has ended.
func (c *component) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// deathError describes an unexpected exit, with the tail of the log.
func (c *component) deathError() error {
	return fmt.Errorf("%s exited unexpectedly (%v); last lines of %s:\n%s", c.name, c.err, c.logPath, c.logTail(30))
}

// logTail returns the last n lines of the component's log.
func (c *component) logTail(n int) string {
	data, err := os.ReadFile(c.logPath)
	if err != nil {
		return fmt.Sprintf("(cannot read log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "  " + strings.Join(lines, "\n  ")
}

// stop sends SIGTERM to the process group, then SIGKILL after grace.
func (c *component) stop(grace time.Duration) error {
	if c.exited() {
		return nil
	}
	pgid := -c.cmd.Process.Pid
	_ = syscall.Kill(pgid, syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(grace):
		_ = syscall.Kill(pgid, syscall.SIGKILL)
		<-c.done
	}
	// Children that outlived the leader still hold the group; kill them too.
	_ = syscall.Kill(pgid, syscall.SIGKILL)
	return nil
}

// freePorts reserves n distinct loopback ports. They are released before the
// components bind them, so another process could race us; tests on one
// machine make that rare, and a bind failure is reported with the log tail.
func freePorts(n int) ([]int, error) {
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("reserve a loopback port: %w", err)
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// FreeAddr reserves a loopback address for a server a test starts, with
// the same release-then-bind race as freePorts.
func FreeAddr() (string, error) {
	ports, err := freePorts(1)
	if err != nil {
		return "", err
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0])), nil
}

// errMissingBinary names a binary that is not built and how to build it.
type errMissingBinary struct{ name, path string }

func (e *errMissingBinary) Error() string {
	return fmt.Sprintf("lab binary %s not found at %s: build it with `make lab-bins` (or set PREMORTEM_LAB_BIN to a directory holding it)", e.name, e.path)
}

// binDir finds the directory of the lab's binaries: $PREMORTEM_LAB_BIN, or
// .cache/lab/bin at the repository root found by walking up from the
// working directory.
func binDir() (string, error) {
	if d := os.Getenv("PREMORTEM_LAB_BIN"); d != "" {
		return d, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "lab", "bins", "build.sh")); err == nil {
			return filepath.Join(d, ".cache", "lab", "bin"), nil
		}
		if filepath.Dir(d) == d {
			return "", errors.New("cannot find the premortem repository above the working directory; set PREMORTEM_LAB_BIN to the directory holding the lab binaries")
		}
	}
}

func findBinary(dir, name string) (string, error) {
	p := filepath.Join(dir, name)
	if st, err := os.Stat(p); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		return "", &errMissingBinary{name: name, path: p}
	}
	return p, nil
}

// kubeconfigYAML renders a kubeconfig for a client certificate.
func kubeconfigYAML(server string, caPEM []byte, user *leaf) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `apiVersion: v1
kind: Config
clusters:
- name: lab
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: lab
  user:
    client-certificate-data: %s
    client-key-data: %s
contexts:
- name: lab
  context:
    cluster: lab
    user: lab
current-context: lab
`, server, b64(caPEM), b64(user.CertPEM), b64(user.KeyPEM))
	return b.Bytes()
}
