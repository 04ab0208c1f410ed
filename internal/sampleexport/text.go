package sampleexport

import (
	"strconv"
	"strings"
)

// texts writes the words of one matter's activities and documents. All of
// it is Windows-1252-encodable: a messy bundle's activities.csv is written
// in that code page.
type texts struct {
	g  *gen
	m  *matterState
	c  *client
	fe feeEarner
}

func (g *gen) texts(m *matterState) texts {
	return texts{g: g, m: m, c: m.clients[0], fe: m.fe}
}

func pounds(pence int64) string {
	return "£" + thousands(pence/100) + "." + strconv.FormatInt(pence%100/10, 10) + strconv.FormatInt(pence%10, 10)
}

func (t texts) dear() string { return "Dear " + t.c.title + " " + t.c.last + ",\n\n" }

func (t texts) signOff() string {
	return "\n\nKind regards,\n" + t.fe.first + " " + t.fe.last + "\n" + firmName
}

func (t texts) addr() string { return t.m.property.line1 + ", " + t.m.property.town }

func (t texts) agent() string {
	if t.m.agent == "" {
		return "the estate agents"
	}
	return t.m.agent
}

func (t texts) lender() string {
	if t.m.lender == "" {
		return "your lender"
	}
	return t.m.lender
}

func (t texts) email(stage int, inbound bool) (subject, body string) {
	g := t.g
	if inbound {
		subject = "Re: Your " + t.m.mtype + " of " + t.addr()
		switch g.intn(3) {
		case 0:
			body = "Hi " + t.fe.first + ",\n\nThanks for the update. Just to check – do we need to do anything about the “management pack”, or is that with the seller’s side?\n\nThanks,\n" + t.c.first
		case 1:
			body = "Hello,\n\nWe’ve been told by " + t.agent() + " that the chain is \"nearly there\". Is that right? We'd like to book removals, ideally for a Friday.\n\nMany thanks,\n" + t.c.first + " " + t.c.last
		default:
			body = "Dear " + t.fe.first + ",\n\nPlease find attached our bank statements, as requested. The deposit of " +
				pounds(int64(g.between(10, 90))*1000_00) + " comes from savings, plus a gift from my parents.\n\nRegards,\n" + t.c.first
		}
		return subject, body
	}
	switch stage {
	case 0:
		subject = "Your " + t.m.mtype + " of " + t.addr() + " – client care letter"
		body = t.dear() + "Thank you for instructing us on your " + t.m.mtype + " of " + t.addr() + ". Our fee, as quoted, is " +
			pounds(t.m.fee) + " plus VAT and disbursements.\n\nPlease return the signed client care letter, your ID and the \"Source of Funds\" questionnaire, so that we can get started." + t.signOff()
	case 1:
		subject = "Searches ordered – " + t.addr()
		body = t.dear() + "We have today ordered the local authority, drainage and environmental searches, at a cost of " +
			pounds(int64(g.between(250, 420))*100) + ". Results usually take two to three weeks, although some councils are slower at the moment.\n\nWe will write again, with our report, once they are back." + t.signOff()
	case 2:
		subject = "Enquiries and mortgage offer – " + t.addr()
		body = t.dear() + "We have raised enquiries with the other side's solicitors, including about the boundary, the \"extension\" and building regulations.\n\nWe have also received the mortgage offer from " +
			t.lender() + "; please read the conditions, sign, and return page 4." + t.signOff()
	default:
		subject = "Completion – " + t.addr()
		body = t.dear() + "Congratulations! Completion took place today at " + strconv.Itoa(g.between(11, 15)) + ":" + pick(g, []string{"00", "15", "30", "45"}) +
			", and the keys can be collected from " + t.agent() + ".\n\nWe will now pay the Stamp Duty Land Tax, register your ownership and send you our final bill." + t.signOff()
	}
	return subject, body
}

func (t texts) call(stage int, inbound bool) (subject, body string) {
	who := t.c.title + " " + t.c.last
	if t.g.chance(0.3) && t.m.agent != "" {
		who = t.m.agent
	}
	if inbound {
		subject = "Call from " + who
	} else {
		subject = "Call to " + who
	}
	bodies := []string{
		"Chasing progress on the chain; buyer's mortgage offer expected next week.",
		"Discussed timescales, searches and the likely exchange date. Client happy to proceed.",
		"Explained the report on title, in particular the restrictive covenant, and answered questions.",
		"Confirmed completion monies received; keys to be released at 1pm.",
	}
	return subject, bodies[min(stage, len(bodies)-1)]
}

func (t texts) sms(stage int) (subject, body string) {
	msgs := []string{
		"Hi " + t.c.first + ", thanks for instructing " + firmName + ". Please send your ID when you can.",
		"Hi " + t.c.first + ", your searches are back, all clear. We'll be in touch about next steps.",
		"Hi " + t.c.first + ", reminder: please sign and return your contract, thank you.",
		"Hi " + t.c.first + ", completion has taken place. Congratulations!",
	}
	return "Text message", msgs[min(stage, len(msgs)-1)]
}

func (t texts) meeting(stage int) (subject, body string) {
	if stage < 2 {
		return "ID check and client care meeting",
			"Met " + t.c.title + " " + t.c.last + " at the office; checked passport and proof of address.\nClient asked about the \"chain\"; explained, briefly, how exchange works."
	}
	return "Signing meeting",
		"Signed contract, TR1 and mortgage deed. Met at the café opposite the office, as the client's fiancée could only do lunchtime.\nCoffee: £3.20, not recharged."
}

func (t texts) task(stage int) (subject, body string) {
	switch {
	case stage == 0:
		return "Check ID and AML", "Run the electronic ID check, and ask for certified copies if it fails."
	case stage == 1:
		return "Chase searches", ""
	case stage == 2 && t.m.lender != "":
		return "Chase " + t.m.lender + " for mortgage offer", "Broker says it was issued on Monday."
	case stage == 2:
		return "Chase the other side for the signed contract", ""
	}
	return "Prepare completion statement", ""
}

func (t texts) note(stage int) (subject, body string) {
	switch t.g.intn(3) {
	case 0:
		return "File note", "Spoke to " + t.c.first + ", who asked: \"Can we exchange before the 14th?\"\nExplained that depends on the chain, the lender and the searches, and that nothing is certain until exchange."
	case 1:
		return "File note: source of funds", "Deposit of " + pounds(int64(t.g.between(15, 120))*1000_00) +
			" from savings, and a gifted deposit from the client's parents (gift letter, signed).\nBank statements reviewed; no concerns."
	}
	return "File note", "Seller's solicitors say the buyer is \"ready to go\", but, the lender's valuer hasn't visited yet.\nReviewed the lease: ground rent £250 p.a., service charge £1,180 p.a.; naïve to expect the freeholder's reply this week."
}

// letter is a document's text: a short letter of one to eight paragraphs.
func (t texts) letter(title string) string {
	var b strings.Builder
	b.WriteString(firmName + "\n1 Park Row, Leeds LS1 5AB\n\n")
	b.WriteString(t.c.title + " " + t.c.first + " " + t.c.last + "\n" + t.c.addr.line1 + "\n" + t.c.addr.town + " " + t.c.addr.postcode + "\n\n")
	b.WriteString("Our ref: " + t.m.number + "\n\n" + title + "\n\n" + t.dear())
	paras := []string{
		"Thank you for your instructions in connection with the " + t.m.mtype + " of " + t.addr() + ".",
		"Our fee for this work is " + pounds(t.m.fee) + " plus VAT, as set out in the attached estimate.",
		"We are regulated by the Solicitors Regulation Authority, and our complaints procedure is enclosed.",
		"The contract, transfer and mortgage deed must be signed in the presence of an independent witness.",
		"Please do not send money without first calling us to confirm our bank details, which will never change by email.",
		"Searches have been ordered and we will report on them as soon as they are received.",
		"The property is " + strings.ToLower(pick(t.g, []string{"Freehold", "Leasehold"})) + " and the title is registered at HM Land Registry.",
		"If anything in this letter is unclear, please call " + t.fe.first + " on 0113 496 0" + strconv.Itoa(100+t.g.intn(900)) + ".",
	}
	n := t.g.between(1, len(paras))
	for _, p := range paras[:n] {
		b.WriteString(p + "\n\n")
	}
	b.WriteString("Yours sincerely,\n\n" + t.fe.first + " " + t.fe.last + "\n")
	return b.String()
}
