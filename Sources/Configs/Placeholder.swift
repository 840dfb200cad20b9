// Filled by the Configs work in progress.
