// Filled by the Roles work in progress.
