"""IDS Next, the hotel's PMS, spoken to in OpenTravel 2003/05 XML over HTTP."""
