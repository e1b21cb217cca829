//! Figures (plotters) and their display in the terminal.
