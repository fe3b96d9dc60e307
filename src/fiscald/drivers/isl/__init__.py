"""ISL, the framing and session shared by Datecs, Daisy, Eltrade and Incotex (shared/spec/isl-brands.md
section 1): what one brand differs in is a table over these, never a copy of them."""
