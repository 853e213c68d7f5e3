//! Address parsing and administrative units (see issue 3 item 8).
