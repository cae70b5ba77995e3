"""Model backends behind one streaming protocol. No Qt here."""
