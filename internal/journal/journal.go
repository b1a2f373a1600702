// Package journal is the sales journal: every sale, refund and closing is
// appended, in the transaction that makes it, to a hash chain of its site.
// Each entry keeps its content as it was written (canonical JSON) and the
// SHA-256 of the entry before it and of that content, so that a row changed
// or removed behind Tremplin's back, or an entry edited to match, shows when
// the chain is verified. It follows the French rules for cash-register
// software (inaltérabilité, sécurisation, conservation) as far as they
// concern the data; it claims no certification.
package journal

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/tremplin/tremplin/internal/database"
)

// Kinds of entries.
const (
	Sale    = "sale"
	Refund  = "refund"
	Closing = "closing"
)

// Genesis is the "previous hash" of a site's first entry.
const Genesis = "0000000000000000000000000000000000000000000000000000000000000000"

// Entry is one link of a site's chain.
type Entry struct {
	ID        int64
	SiteID    int64
	Seq       int64
	Kind      string
	Ref       string
	Content   string
	PrevHash  string
	Hash      string
	CreatedAt time.Time
}

// TableName is the entries' table.
func (Entry) TableName() string { return "journal_entries" }

// Hash is an entry's hash: SHA-256 of the previous hash, a newline, and the
// content.
func Hash(prev string, content []byte) string {
	h := sha256.New()
	h.Write([]byte(prev))
	h.Write([]byte{'\n'})
	h.Write(content)
	return hex.EncodeToString(h.Sum(nil))
}

// Canonical is content's canonical form: JSON of a struct (fields in their
// declared order), instants in UTC. The same value always gives the same
// bytes, whoever writes it and whoever reads it back.
func Canonical(content any) ([]byte, error) {
	b, err := json.Marshal(content)
	if err != nil {
		return nil, fmt.Errorf("journal content: %w", err)
	}
	return b, nil
}

// Link is a site's chain taken for one entry: the entry's number and the
// hash it follows. Taking it locks the chain's head until the transaction
// ends, so appends to one site queue and never fork the chain, and other
// sites' do not wait (on SQLite the write transaction runs alone anyway).
type Link struct {
	SiteID int64
	Seq    int64
	Prev   string
}

// Open starts a site's chain (its head, at Genesis) if it has none.
func Open(tx *gorm.DB, siteID int64) error {
	if err := tx.Exec(`INSERT INTO journal_heads (site_id, seq, hash) VALUES (?, 0, ?) ON CONFLICT (site_id) DO NOTHING`, siteID, Genesis).Error; err != nil {
		return fmt.Errorf("journal of site %d: %w", siteID, err)
	}
	return nil
}

// Take takes the site's chain for its next entry: one conditional update
// that returns the head, once the site's head exists.
func Take(tx *gorm.DB, siteID int64) (Link, error) {
	var head struct {
		Seq  int64
		Hash string
	}
	for range 2 {
		q := tx.Raw(`UPDATE journal_heads SET seq = seq + 1 WHERE site_id = ? RETURNING seq, hash`, siteID).Scan(&head)
		if q.Error != nil {
			return Link{}, fmt.Errorf("journal of site %d: %w", siteID, q.Error)
		}
		if q.RowsAffected == 1 {
			return Link{SiteID: siteID, Seq: head.Seq, Prev: head.Hash}, nil
		}
		// The site's first entry: its head, then the update again (two
		// first sales at once both insert; one row stays).
		if err := Open(tx, siteID); err != nil {
			return Link{}, err
		}
	}
	return Link{}, fmt.Errorf("journal of site %d: no head", siteID)
}

// Write adds the entry's two writes (the entry, the head's new hash) to b,
// the transaction's last writes, and returns the entry's hash: the chain's
// new head once b runs.
func (l Link) Write(b *database.Batch, kind, ref string, content any, at time.Time) (string, error) {
	body, err := Canonical(content)
	if err != nil {
		return "", err
	}
	hash := Hash(l.Prev, body)
	b.Add(`UPDATE journal_heads SET prev_hash = hash, hash = ? WHERE site_id = ?`, "0", hash, l.SiteID)
	b.Add(`INSERT INTO journal_entries (site_id, seq, kind, ref, content, prev_hash, hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, "id",
		l.SiteID, l.Seq, kind, ref, string(body), l.Prev, hash, at)
	return hash, nil
}

// WriteTaking adds to b, a PostgreSQL batch, the taking of the site's
// chain and its entry, in the batch's one statement: the head's number and
// hash move on in one conditional update that computes the entry's hash
// from the head it locked (sha256 in SQL, the same bytes as Hash), and the
// entry is written from what that update returned. The site's next sale
// then waits for this statement and the commit only, not for one more
// round trip before them. It returns the index of the entry's write in
// the batch: no row there means the site has no chain yet (Take opens it).
func WriteTaking(b *database.Batch, siteID int64, kind, ref string, content any, at time.Time) (int, error) {
	body, err := Canonical(content)
	if err != nil {
		return 0, err
	}
	head := b.AddRead(`UPDATE journal_heads SET seq = seq + 1, prev_hash = hash,
		hash = encode(sha256(convert_to(hash || chr(10) || CAST(? AS TEXT), 'UTF8')), 'hex') WHERE site_id = ?`, "seq", "prev_hash, hash", string(body), siteID)
	return b.Add(`INSERT INTO journal_entries (site_id, seq, kind, ref, content, prev_hash, hash, created_at)
		SELECT ?, h.v, ?, ?, ?, h.prev_hash, h.hash, ? FROM `+database.Ref(head)+` h`, "id", siteID, kind, ref, string(body), at), nil
}

// Pending is an entry Last added to a batch; Done completes it once the
// batch ran.
type Pending struct {
	write   int // the entry's write in the batch, or -1 when it is written already
	siteID  int64
	kind    string
	ref     string
	content any
	at      time.Time
}

// Last adds the site's next entry to b, the transaction's last writes,
// taking the site's chain as late as the engine allows, so that the site's
// next writer waits for these writes only: on PostgreSQL within b's one
// statement (WriteTaking), on SQLite, which runs one writer at a time,
// just before it (Take, then Write).
func Last(tx *gorm.DB, b *database.Batch, siteID int64, kind, ref string, content any, at time.Time) (Pending, error) {
	p := Pending{write: -1, siteID: siteID, kind: kind, ref: ref, content: content, at: at}
	if database.EngineOf(tx) == database.Postgres {
		var err error
		p.write, err = WriteTaking(b, siteID, kind, ref, content, at)
		return p, err
	}
	l, err := Take(tx, siteID)
	if err != nil {
		return p, err
	}
	_, err = l.Write(b, kind, ref, content, at)
	return p, err
}

// Done completes the entry once b ran: a site without a chain yet (made
// before the journal, and not a space) wrote nothing in b, and its chain
// is opened here with the entry.
func (p Pending) Done(tx *gorm.DB, done database.Returned) error {
	if p.write < 0 || done.Rows(p.write) > 0 {
		return nil
	}
	_, err := Append(tx, p.siteID, p.kind, p.ref, p.content, p.at)
	return err
}

// Append takes the site's chain and writes one entry at once.
func Append(tx *gorm.DB, siteID int64, kind, ref string, content any, at time.Time) (string, error) {
	l, err := Take(tx, siteID)
	if err != nil {
		return "", err
	}
	var b database.Batch
	hash, err := l.Write(&b, kind, ref, content, at)
	if err != nil {
		return "", err
	}
	if _, err := b.Run(tx); err != nil {
		return "", fmt.Errorf("journal of site %d: %w", siteID, err)
	}
	return hash, nil
}

// Recompute gives the content that the rows behind entries say today,
// keyed by ref, for one kind: a ref missing from the map was removed.
type Recompute func(db *gorm.DB, kind string, refs []string) (map[string][]byte, error)

// Breach is something the verification found: which entry, and what.
type Breach struct {
	SiteID int64
	Seq    int64
	Detail string
}

// Verify walks every site's chain in order and reports an entry whose link
// or hash does not hold (the journal itself was edited), whose row is gone,
// or whose row no longer says what was journaled; and a head that is not
// the last entry (entries removed at the end).
func Verify(db *gorm.DB, recompute Recompute) ([]Breach, error) {
	var out []Breach
	var heads []struct {
		SiteID int64
		Seq    int64
		Hash   string
	}
	if err := db.Raw(`SELECT site_id, seq, hash FROM journal_heads ORDER BY site_id`).Scan(&heads).Error; err != nil {
		return nil, fmt.Errorf("journal heads: %w", err)
	}
	for _, h := range heads {
		prev, seq := Genesis, int64(0)
		for {
			var batch []Entry
			if err := db.Where("site_id = ? AND seq > ?", h.SiteID, seq).Order("seq").Limit(500).Find(&batch).Error; err != nil {
				return nil, fmt.Errorf("journal of site %d: %w", h.SiteID, err)
			}
			if len(batch) == 0 {
				break
			}
			found, err := rowsOf(db, batch, recompute)
			if err != nil {
				return nil, err
			}
			for _, e := range batch {
				if e.Seq != seq+1 {
					out = append(out, Breach{h.SiteID, e.Seq, fmt.Sprintf("entries %d to %d are missing", seq+1, e.Seq-1)})
				}
				if e.PrevHash != prev {
					out = append(out, Breach{h.SiteID, e.Seq, "does not follow the entry before it (the chain was edited)"})
				}
				if Hash(e.PrevHash, []byte(e.Content)) != e.Hash {
					out = append(out, Breach{h.SiteID, e.Seq, fmt.Sprintf("%s %s: the entry's content does not match its hash (the journal was edited)", e.Kind, e.Ref)})
				}
				now, ok := found[e.Kind][e.Ref]
				switch {
				case !ok:
					out = append(out, Breach{h.SiteID, e.Seq, fmt.Sprintf("%s %s was removed", e.Kind, e.Ref)})
				case !bytes.Equal(now, []byte(e.Content)):
					out = append(out, Breach{h.SiteID, e.Seq, fmt.Sprintf("%s %s was changed: journaled %s, now %s", e.Kind, e.Ref, e.Content, now)})
				}
				prev, seq = e.Hash, e.Seq
			}
		}
		if seq != h.Seq || prev != h.Hash {
			out = append(out, Breach{h.SiteID, h.Seq, fmt.Sprintf("the chain ends at entry %d but its head says %d (entries removed)", seq, h.Seq)})
		}
	}
	return out, nil
}

// rowsOf recomputes a batch's contents, one query per kind.
func rowsOf(db *gorm.DB, batch []Entry, recompute Recompute) (map[string]map[string][]byte, error) {
	refs := map[string][]string{}
	for _, e := range batch {
		refs[e.Kind] = append(refs[e.Kind], e.Ref)
	}
	out := map[string]map[string][]byte{}
	for kind, rs := range refs {
		m, err := recompute(db, kind, rs)
		if err != nil {
			return nil, fmt.Errorf("journal %s rows: %w", kind, err)
		}
		out[kind] = m
	}
	return out, nil
}

// ErrUnknownKind is what a Recompute returns for a kind it does not know.
var ErrUnknownKind = errors.New("unknown journal kind")
