# src/rte: PMIx client
