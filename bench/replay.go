package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
)

// A recorder sits between `tremplin serve` and PostgreSQL: it passes every
// byte through untouched and decodes a copy of both directions, so that the
// statements the server ran (their text, their parameters as sent, and the
// id each new sale got) can be replayed later without the service, at the
// same concurrency. Forwarding never waits for the decoding: a connection
// whose copy falls behind is no longer recorded.
type recorder struct {
	ln        net.Listener
	upstream  string
	recording atomic.Bool

	mu     sync.Mutex
	units  []unit // in the order they ended
	broken atomic.Int64
}

// unit is what one connection ran as one piece: a transaction (BEGIN to
// COMMIT), or the statements up to a Sync outside one.
type unit struct {
	stmts []*stmt
	sale  *stmt // the INSERT of a sale, whose id the replay gives it again
}

type stmt struct {
	sql     string
	oids    []uint32
	formats []int16
	params  [][]byte
	results []int16
	simple  bool // a Query message (simple protocol)

	returned []byte // the first value of the first row it returned
	done     chan struct{}
}

// newRecorder listens on a local port and forwards to upstream (host:port).
func newRecorder(upstream string) (*recorder, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &recorder{ln: ln, upstream: upstream}
	go r.accept()
	return r, nil
}

func (r *recorder) addr() string { return r.ln.Addr().String() }

func (r *recorder) close() { _ = r.ln.Close() }

func (r *recorder) accept() {
	for {
		client, err := r.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", r.upstream)
		if err != nil {
			client.Close()
			continue
		}
		c := &conn{r: r, queued: make(chan *stmt, 1<<16)}
		toServer, toClient := newTee(), newTee()
		go func() { forward(client, server, toClient); client.Close() }()
		go func() { forward(server, client, toServer); server.Close() }()
		go c.decodeClient(toServer)
		go c.decodeServer(toClient)
	}
}

// forward copies src to dst, and a copy of each chunk to t while t keeps up.
func forward(dst io.Writer, src io.Reader, t *tee) {
	defer t.close()
	buf := make([]byte, 64<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
			t.send(buf[:n])
		}
		if err != nil {
			return
		}
	}
}

// tee is a copy of a stream that never makes the stream wait: past 4,096
// chunks behind, it gives up (its reader gets an error).
type tee struct {
	ch     chan []byte
	cur    []byte
	broken bool
}

func newTee() *tee { return &tee{ch: make(chan []byte, 4096)} }

func (t *tee) send(b []byte) {
	if t.broken {
		return
	}
	select {
	case t.ch <- slices.Clone(b):
	default:
		t.broken = true
		t.ch <- nil // a nil chunk: the copy is cut here
	}
}

func (t *tee) close() {
	if !t.broken {
		close(t.ch)
	}
}

func (t *tee) Read(p []byte) (int, error) {
	for len(t.cur) == 0 {
		b, ok := <-t.ch
		if !ok {
			return 0, io.EOF
		}
		if b == nil {
			return 0, errors.New("the copy fell behind")
		}
		t.cur = b
	}
	n := copy(p, t.cur)
	t.cur = t.cur[n:]
	return n, nil
}

// conn is one connection's recording: the statements executed, queued for
// the server's answers (which come in the same order), and a sync mark
// after each group.
type conn struct {
	r      *recorder
	queued chan *stmt
}

var syncMark = &stmt{}

// decodeClient reads what the server sent PostgreSQL. A message it cannot
// decode (a password exchange) ends the recording of that connection, not
// the connection.
func (c *conn) decodeClient(in io.Reader) {
	defer close(c.queued)
	defer func() { _, _ = io.Copy(io.Discard, in) }()
	be := pgproto3.NewBackend(in, io.Discard)
	if _, err := be.ReceiveStartupMessage(); err != nil {
		return
	}
	prepared := map[string]stmt{}
	var cur unit
	var bound *stmt
	inTx := false
	end := func() {
		if len(cur.stmts) > 0 && c.r.recording.Load() {
			c.r.mu.Lock()
			c.r.units = append(c.r.units, cur)
			c.r.mu.Unlock()
		}
		cur = unit{}
	}
	add := func(s *stmt) {
		cur.stmts = append(cur.stmts, s)
		q := strings.ToLower(strings.TrimSpace(s.sql))
		switch {
		case strings.HasPrefix(q, "begin"):
			inTx = true
		case strings.HasPrefix(q, "commit"):
			inTx = false
			end()
		case strings.HasPrefix(q, "rollback"):
			inTx = false
			cur = unit{} // what was undone is not replayed
		case strings.HasPrefix(s.sql, `INSERT INTO "sales" (`):
			cur.sale = s
		}
	}
	for {
		msg, err := be.Receive()
		if err != nil {
			c.r.broken.Add(1)
			return
		}
		switch m := msg.(type) {
		case *pgproto3.Parse:
			prepared[m.Name] = stmt{sql: m.Query, oids: slices.Clone(m.ParameterOIDs)}
		case *pgproto3.Bind:
			s := prepared[m.PreparedStatement]
			s.formats, s.results = slices.Clone(m.ParameterFormatCodes), slices.Clone(m.ResultFormatCodes)
			s.params = make([][]byte, len(m.Parameters))
			for i, p := range m.Parameters {
				if p != nil {
					s.params[i] = slices.Clone(p)
				}
			}
			bound = &s
		case *pgproto3.Execute:
			if bound != nil {
				s := bound
				bound = nil
				s.done = make(chan struct{})
				c.queued <- s
				add(s)
			}
		case *pgproto3.Sync:
			c.queued <- syncMark
			if !inTx {
				end()
			}
		case *pgproto3.Query:
			s := &stmt{sql: m.String, simple: true, done: make(chan struct{})}
			c.queued <- s
			c.queued <- syncMark
			add(s)
			if !inTx {
				end()
			}
		case *pgproto3.Terminate:
			return
		}
	}
}

// decodeServer reads PostgreSQL's answers and gives each statement the
// first value it returned (a new sale's id). Answers come in the order the
// statements were executed; after an error, PostgreSQL skips the group's
// other statements up to its ReadyForQuery.
func (c *conn) decodeServer(in io.Reader) {
	defer func() { _, _ = io.Copy(io.Discard, in) }()
	fe := pgproto3.NewFrontend(in, io.Discard)
	started := false
	var cur *stmt
	next := func() *stmt {
		if cur == nil {
			s, ok := <-c.queued
			if !ok {
				return nil
			}
			if s == syncMark { // an answer without its statement: give up
				return nil
			}
			cur = s
		}
		return cur
	}
	for {
		msg, err := fe.Receive()
		if err != nil {
			return
		}
		switch m := msg.(type) {
		case *pgproto3.ReadyForQuery:
			if !started {
				started = true
				continue
			}
			if cur != nil {
				close(cur.done)
				cur = nil
			}
			for s := range c.queued { // what the group skipped, then its mark
				if s == syncMark {
					break
				}
				close(s.done)
			}
		case *pgproto3.DataRow:
			if s := next(); s != nil && s.returned == nil && len(m.Values) > 0 && m.Values[0] != nil {
				s.returned = slices.Clone(m.Values[0])
			} else if s == nil {
				return
			}
		case *pgproto3.CommandComplete, *pgproto3.EmptyQueryResponse:
			s := next()
			if s == nil {
				return
			}
			close(s.done)
			cur = nil
		case *pgproto3.ErrorResponse:
			if cur != nil {
				close(cur.done)
				cur = nil
			}
		}
	}
}

// recorded is what was recorded while recording was on.
func (r *recorder) recorded() []unit {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.units)
}

// replayResult is how the replay went.
type replayResult struct {
	sales      int
	units      int
	took       time.Duration
	p99        time.Duration // of the sales' transactions
	failed     int
	firstError error
}

// replay runs the units on dsn at the given concurrency, each once, in the
// order they were recorded, on connections of its own (no pool, no ORM):
// what PostgreSQL takes to run the service's own statements.
func replay(ctx context.Context, dsn string, units []unit, conns int) (replayResult, error) {
	var pcs []*pgconn.PgConn
	defer func() {
		for _, c := range pcs {
			_ = c.Close(context.Background())
		}
	}()
	for range conns {
		c, err := pgconn.Connect(ctx, dsn)
		if err != nil {
			return replayResult{}, fmt.Errorf("replay connection: %w", err)
		}
		pcs = append(pcs, c)
	}
	queue := make(chan unit, len(units))
	for _, u := range units {
		if u.sale != nil { // its id read from PostgreSQL's answer
			select {
			case <-u.sale.done:
			case <-time.After(5 * time.Second):
			}
		}
		queue <- u
	}
	close(queue)
	var mu sync.Mutex
	res := replayResult{units: len(units)}
	var lat []time.Duration
	start := time.Now()
	var wg sync.WaitGroup
	for _, c := range pcs {
		wg.Go(func() {
			for u := range queue {
				t := time.Now()
				err := runUnit(ctx, c, u)
				took := time.Since(t)
				mu.Lock()
				if err != nil {
					res.failed++
					if res.firstError == nil {
						res.firstError = err
					}
				} else if u.sale != nil {
					res.sales++
					lat = append(lat, took)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	res.took = time.Since(start)
	if len(lat) > 0 {
		slices.Sort(lat)
		res.p99 = lat[len(lat)*99/100]
	}
	return res, nil
}

// runUnit sends a unit's statements as they were sent; a statement that
// fails inside a transaction rolls it back.
func runUnit(ctx context.Context, c *pgconn.PgConn, u unit) error {
	var failed error
	for _, s := range u.stmts {
		var err error
		if s.simple {
			_, err = c.Exec(ctx, s.sql).ReadAll()
		} else {
			q, params, oids, formats := s.sql, s.params, s.oids, s.formats
			if len(oids) > 1 && len(oids) != len(params) {
				oids = nil // the server infers them, as it did for the service
			}
			if s == u.sale {
				if q, params, oids, formats, err = withID(s, oids); err != nil {
					failed = err
					break
				}
			}
			err = c.ExecParams(ctx, q, params, oids, formats, s.results).Read().Err
		}
		if err != nil {
			failed = fmt.Errorf("%.80s: %w", s.sql, err)
			break
		}
	}
	if failed != nil && c.TxStatus() != 'I' {
		if _, err := c.Exec(ctx, "rollback").ReadAll(); err != nil {
			return errors.Join(failed, err)
		}
	}
	return failed
}

// withID is a sale's INSERT given the id the sale got when it was
// recorded: the statements after it name that id, and concurrent sales
// replayed in another order would otherwise get other ids from the
// sequence.
func withID(s *stmt, oids []uint32) (string, [][]byte, []uint32, []int16, error) {
	var id int64
	format := int16(0) // text, unless the server asked for binary
	if len(s.results) > 0 {
		format = s.results[0]
	}
	if s.returned == nil {
		return "", nil, nil, nil, errors.New("a sale whose id was not recorded")
	}
	if format == 1 {
		if len(s.returned) != 8 {
			return "", nil, nil, nil, fmt.Errorf("a sale's id of %d bytes", len(s.returned))
		}
		id = int64(binary.BigEndian.Uint64(s.returned))
	} else {
		var err error
		if id, err = strconv.ParseInt(string(s.returned), 10, 64); err != nil {
			return "", nil, nil, nil, fmt.Errorf("a sale's id: %w", err)
		}
	}
	const into, values = `INSERT INTO "sales" (`, `) VALUES (`
	i := strings.Index(s.sql, values)
	if !strings.HasPrefix(s.sql, into) || i < 0 {
		return "", nil, nil, nil, fmt.Errorf("a sale's INSERT not as GORM writes it: %.80s", s.sql)
	}
	n := len(s.params) + 1
	q := into + `"id", ` + s.sql[len(into):i] + values + fmt.Sprintf("$%d, ", n) + s.sql[i+len(values):]
	params := append(slices.Clone(s.params), []byte(strconv.FormatInt(id, 10)))
	formats := s.formats
	switch {
	case len(formats) == 1 && formats[0] == 1: // all binary: the id too
		params[n-1] = binary.BigEndian.AppendUint64(nil, uint64(id))
	case len(formats) > 1:
		formats = append(slices.Clone(formats), 0)
	}
	if len(oids) > 0 {
		oids = append(slices.Clone(oids), 20) // int8
	}
	return q, params, oids, formats, nil
}
