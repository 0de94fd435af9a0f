"""Services: ingest, incident reads and writes. They call store/ and geo/, never api/."""
