// Filled by the Comm work in progress.
