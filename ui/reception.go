package ui

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/tremplin/tremplin/inventory"

	"github.com/gin-gonic/gin"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/i18n"
	"github.com/tremplin/tremplin/internal/web"
	"github.com/tremplin/tremplin/partners"
	"github.com/tremplin/tremplin/recharges"
)

// receptionView is a shipped transfer being received: what was scanned so
// far against what it carries.
type receptionView struct {
	web.Page
	Transfer  inventory.TransferView
	From      string
	Codes     []string
	Received  int
	ScanError string
	Added     string
	// Missing is how many devices were not scanned when finish was asked:
	// the page asks to confirm before reporting them missing.
	Missing int
	// Cards are the recharge products the transfer still carries, each
	// with the number the site typed after counting its packs.
	Cards []cardCount
	// Short are the products counted short when finish was asked, asked
	// to confirm with the devices.
	Short []cardCount
	// Confirm is set when the page asks to confirm an incomplete reception.
	Confirm bool
}

// cardCount is a product's cards (or an accessory, Accessory set) on the
// way and what was counted of them.
type cardCount struct {
	recharges.InTransitLine
	Accessory bool
	Field     string
	Value     string
	Counted   int
	Error     string
}

// Shortfall is how many cards were not counted.
func (c cardCount) Shortfall() int { return c.Quantity - c.Counted }

// noteCode is the code printed on a transfer's delivery note (T-000042).
var noteCode = regexp.MustCompile(`^T-?[0-9]{6}$`)

// reception fills the view of a transfer the caller's site receives.
func (p *Inventory) reception(c *gin.Context, caller partners.Caller, id int64, v *receptionView) error {
	var err error
	if v.Transfer, err = p.Service.GetTransfer(c.Request.Context(), caller, id); err != nil {
		return err
	}
	if caller.CheckSite(v.Transfer.ToSiteID) != nil {
		return fmt.Errorf("transfer %d: %w", id, apperr.ErrNotFound)
	}
	if site, err := p.Partners.Site(c.Request.Context(), v.Transfer.FromSiteID); err == nil {
		v.From = site.Name
	}
	for _, w := range v.Transfer.Waiting {
		field := "cards_" + strconv.FormatInt(w.ProductID, 10)
		v.Cards = append(v.Cards, cardCount{InTransitLine: w, Field: field, Value: strings.TrimSpace(c.PostForm(field))})
	}
	for _, a := range v.Transfer.Accessories {
		if a.Quantity > a.Received {
			field := "acc_" + strconv.FormatInt(a.AccessoryID, 10)
			v.Cards = append(v.Cards, cardCount{InTransitLine: recharges.InTransitLine{ProductID: a.AccessoryID, ProductName: a.Name,
				Quantity: a.Quantity - a.Received}, Accessory: true, Field: field, Value: strings.TrimSpace(c.PostForm(field))})
		}
	}
	for _, d := range v.Transfer.Devices {
		if d.Received {
			v.Received++
		}
	}
	return nil
}

// countCards reads the typed counts: each is required, a whole number
// from 0 to what was shipped. ok is false when one is not.
func countCards(l i18n.Lang, cards []cardCount) ([]inventory.RechargeLine, bool) {
	ok := true
	lines := make([]inventory.RechargeLine, 0, len(cards))
	for i := range cards {
		cc := &cards[i]
		n, err := strconv.Atoi(cc.Value)
		switch {
		case cc.Value == "" && cc.Accessory:
			cc.Error = l.T("Count the %s that arrived and type the number (0 if none).", cc.ProductName)
		case cc.Value == "":
			cc.Error = l.T("Count the cards of %s that arrived and type the number (0 if none).", cc.ProductName)
		case err != nil || n < 0 || n > cc.Quantity:
			cc.Error = l.T("Type a number from 0 to %d: the cards of %s shipped on this transfer.", cc.Quantity, cc.ProductName)
			if cc.Accessory {
				cc.Error = l.T("Type a number from 0 to %d: the %s on the way.", cc.Quantity, cc.ProductName)
			}
		default:
			cc.Counted = n
			lines = append(lines, inventory.RechargeLine{ProductID: cc.ProductID, Quantity: n})
			continue
		}
		ok = false
	}
	return lines, ok
}

func (p *Inventory) receptionPage(c *gin.Context, caller partners.Caller, id int64) error {
	v := &receptionView{}
	return p.show(c, "reception", v, p.reception(c, caller, id, v))
}

// receive counts a scanned code against the transfer, takes one out, or
// finishes: what was scanned goes on the shelves, the rest is missing.
func (p *Inventory) receive(c *gin.Context, caller partners.Caller, id int64) error {
	f := c.Request.PostForm
	v := &receptionView{}
	if err := p.reception(c, caller, id, v); err != nil {
		return err
	}
	l := p.lang(c)
	v.Codes = f["scanned"]
	onTransfer := func(code string) (string, bool) {
		d, err := p.Service.FindByCode(c.Request.Context(), caller, code)
		if err != nil {
			return inventory.NormalizeCode(code), false
		}
		return d.Tag, slices.ContainsFunc(v.Transfer.Devices, func(it inventory.TransferItem) bool { return it.ID == d.ID })
	}
	received := func() int {
		n := 0
		for _, code := range v.Codes {
			if _, ok := onTransfer(code); ok {
				n++
			}
		}
		return n
	}
	already := v.Received
	var counted []inventory.RechargeLine
	finishing := f.Get("op") == "finish"
	if finishing {
		var ok bool
		if counted, ok = countCards(l, v.Cards); !ok {
			v.Received = already + received()
			p.Site.Render(c, http.StatusUnprocessableEntity, "reception", v)
			return nil
		}
		for _, cc := range v.Cards {
			if cc.Shortfall() > 0 {
				v.Short = append(v.Short, cc)
			}
		}
	}
	pending := len(v.Transfer.Devices) - already
	switch {
	case finishing && f.Get("confirm") == "" && (received() < pending || len(v.Short) > 0):
		// What was not scanned or counted is reported missing: asked first.
		v.Received = already + received()
		v.Missing = pending - received()
		v.Confirm = true
		p.Site.Render(c, http.StatusOK, "reception", v)
		return nil
	case finishing:
		id := v.Transfer.ID
		in := inventory.Scanned{Codes: v.Codes}
		for i, cc := range v.Cards {
			if cc.Accessory {
				in.Accessories = append(in.Accessories, inventory.AccessoryLine{AccessoryID: cc.ProductID, Quantity: counted[i].Quantity})
			} else {
				in.Recharges = append(in.Recharges, counted[i])
			}
		}
		if in.Recharges == nil && len(v.Transfer.Waiting) > 0 {
			in.Recharges = []inventory.RechargeLine{}
		}
		msg := "Reception recorded: what was scanned is on the shelves."
		if f.Get("confirm") != "" {
			msg = "Reception recorded. What did not arrive is reported missing on the transfer: the sending site sees it."
		}
		err := once(p.Site, c, msg, func() (string, error) {
			_, err := p.Service.ReceiveTransfer(c.Request.Context(), caller, id, in)
			return "/transferts/" + strconv.FormatInt(id, 10), err
		})
		if err != nil {
			if errorsIsConflict(err) {
				v.ScanError = web.Say(l, err)
				p.Site.Render(c, http.StatusConflict, "reception", v)
				return nil
			}

			return err
		}
		return nil
	case f.Get("remove") != "":
		v.Codes = slices.DeleteFunc(v.Codes, func(s string) bool { return s == f.Get("remove") })
	default:
		code := f.Get("code")
		if noteCode.MatchString(inventory.NormalizeCode(code)) {
			v.ScanError = l.T("This is the delivery note's code: scan the devices themselves.")
			break
		}
		tag, ok := onTransfer(code)
		if !ok && tag != "" && len(v.Cards) > 0 {
			if name, card, err := p.Recharges.CardOnTransfer(c.Request.Context(), v.Transfer.ID, code); err == nil && card {
				v.ScanError = l.T("This is a recharge card of %s: count the cards in their packs and type the number below, rather than scanning them.", name)
				break
			}
		}
		switch {
		case tag == "":
		case slices.Contains(v.Codes, tag):
			v.ScanError = l.T("%s was already scanned.", tag)
		case !ok:
			v.Codes = append(v.Codes, tag)
			v.ScanError = l.T("%s is not on this transfer: it will be reported as unexpected.", tag)
		default:
			v.Codes = append(v.Codes, tag)
			v.Added = tag
		}
	}
	v.Received = already + received()
	p.Site.Render(c, http.StatusOK, "reception", v)
	return nil
}
