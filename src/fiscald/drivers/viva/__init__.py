"""Viva.com card terminals (FisCool's "VivaWallet"): the Local and the Cloud Terminal API behind one driver."""
