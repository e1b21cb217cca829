//! Local minimum search.
