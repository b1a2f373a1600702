package ui

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/tremplin/tremplin/inventory"
	"github.com/tremplin/tremplin/partners"

	"github.com/gin-gonic/gin"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/money"
	"github.com/tremplin/tremplin/internal/web"
)

// issueReceipt issues a donation's tax receipt from its page (admins):
// the value in euros and how it was reckoned.
func (p *Inventory) issueReceipt(c *gin.Context, caller partners.Caller, id int64) error {
	f := c.Request.PostForm
	l := p.lang(c)
	err := once(p.Site, c, "", func() (string, error) {
		cents, ok := money.Parse(f.Get("value"))
		if !ok {
			return "", apperr.Invalid("value_cents", "type the value in euros, such as 450 or 450,00")
		}
		r, err := p.Service.IssueTaxReceipt(c.Request.Context(), caller, id, inventory.NewTaxReceipt{ValueCents: cents, Valuation: f.Get("valuation")})
		if err != nil {
			return "", err
		}
		web.Flash(c, l.T("Tax receipt n° %s issued: print it and send it to the donor.", r.Number), false)
		return "/dons/" + strconv.FormatInt(id, 10) + "#tax-receipt", nil
	})
	if err != nil {
		return p.receiptRefused(c, caller, id, f, err)
	}
	return nil
}

// receiptRefused shows the donation's page again with the receipt form as
// typed and what was refused.
func (p *Inventory) receiptRefused(c *gin.Context, caller partners.Caller, id int64, f url.Values, err error) error {
	fields, all, ok := web.Refusal(p.lang(c), err)
	if !ok {
		return err
	}
	v := &donationView{ReceiptForm: f, ReceiptErrors: fields, ReceiptAll: all}
	if err := p.donationPage(c, caller, id, v); err != nil {
		return err
	}
	p.Site.Render(c, http.StatusUnprocessableEntity, "donation", v)
	return nil
}

// cancelReceipt cancels a donation's receipt (admins), with the reason.
func (p *Inventory) cancelReceipt(c *gin.Context, caller partners.Caller, id int64) error {
	f := c.Request.PostForm
	l := p.lang(c)
	err := once(p.Site, c, "", func() (string, error) {
		r, err := p.Service.CancelTaxReceipt(c.Request.Context(), caller, id, inventory.Cancellation{Reason: f.Get("reason")})
		if err != nil {
			return "", err
		}
		web.Flash(c, l.T("Tax receipt n° %s cancelled: it keeps its number, marked cancelled.", r.Number), false)
		return "/dons/" + strconv.FormatInt(id, 10) + "#tax-receipt", nil
	})
	if err != nil {
		return p.receiptRefused(c, caller, id, f, err)
	}
	return nil
}

func (p *Inventory) receiptPDF(c *gin.Context, caller partners.Caller, id int64) error {
	b, r, err := p.Service.TaxReceiptPDF(c.Request.Context(), caller, id)
	return p.pdf(c, "recu-fiscal-"+r.Number+".pdf", b, err)
}
