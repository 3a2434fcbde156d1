"""The gateway's event log: every service's feed gathered into one total order, served publicly."""
