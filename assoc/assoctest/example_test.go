package assoctest_test

import (
	"fmt"
	"time"

	"github.com/pgsctp/pgsctp/assoc"
	"github.com/pgsctp/pgsctp/assoc/assoctest"
	"github.com/pgsctp/pgsctp/chunk"
)

// quietTB stands in for the *testing.T a real test passes.
type quietTB struct{}

func (quietTB) Helper()                   {}
func (quietTB) Name() string              { return "example" }
func (quietTB) Logf(string, ...any)       {}
func (quietTB) Errorf(f string, a ...any) { fmt.Printf(f+"\n", a...) }
func (quietTB) Fatalf(f string, a ...any) { panic(fmt.Sprintf(f, a...)) }
func (quietTB) Failed() bool              { return false }
func (quietTB) Cleanup(func())            {}

// A test of an application protocol over SCTP, in virtual time: the
// network loses the first DATA packet, and the message still arrives,
// after the retransmission timer.
func Example() {
	p := assoctest.New(quietTB{}, assoctest.Options{
		Seed: 42,
		AZ:   assoctest.LinkConfig{Delay: 10 * time.Millisecond, Hooks: []assoctest.Hook{assoctest.DropFirst(chunk.TypeData, 1)}},
		ZA:   assoctest.LinkConfig{Delay: 10 * time.Millisecond},
	})
	if !p.RunUntil(p.Connected, time.Minute) {
		fmt.Println("no association")
		return
	}
	p.A.Send(0, 0, []byte("SELECT 1"), assoc.SendOptions{})
	p.RunUntil(func() bool { return len(p.Z.Messages) == 1 }, time.Minute)
	fmt.Printf("%s, %d DATA packets sent\n", p.Z.Received(0), p.Ladder.Count(assoctest.AtoZ, chunk.TypeData))
	// Output: SELECT 1, 2 DATA packets sent
}
