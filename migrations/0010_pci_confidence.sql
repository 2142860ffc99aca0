-- PCI-DSS: how sure the call classifier was of each modem-handshake
-- observation ("medium" or "high": a handshake signature; a lone tone is
-- only suspected and never becomes a flag). Empty for observations that
-- are facts (inventory role, dialled acquirer number, unencrypted payments
-- port) and for rows written before this column existed.
ALTER TABLE pci_evidence ADD COLUMN confidence TEXT NOT NULL DEFAULT '';
