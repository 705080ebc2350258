package client_test

// goldenKey is hex(sha256("dossier-idempotency-v1\nrun-1\ndataset\n2\nsha256:" +
// hex(sha256(`{"kind":"dataset"}`)))); the Python client's tests pin it too.
const goldenKey = "7a34b6f7a1bc9a08dbdd421ea72737eca39f4e025b3648fe2a5464ccff1b3333"
