// Validates jambonz documents with jambonz's own verb validator
// (@jambonz/verb-specifications, what a jambonz server applies to an
// application's answer). Each argument is a file holding one JSON array of
// verbs; prints `ok <file>` or `invalid <file>: <why>` and exits 1 on any
// invalid one. Used by tests/it/jambonz.rs.
'use strict';
const fs = require('fs');
const { validate } = require('@jambonz/verb-specifications');

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
let bad = 0;
for (const file of process.argv.slice(2)) {
  try {
    const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
    if (!Array.isArray(doc)) throw new Error('not an array of verbs');
    validate(quiet, doc);
    console.log(`ok ${file}`);
  } catch (e) {
    bad += 1;
    console.log(`invalid ${file}: ${e.message}`);
  }
}
process.exit(bad ? 1 : 0);
