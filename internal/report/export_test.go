package report

// Golden is golden, for the external test package.
var Golden = golden
