// Package matchspec parses conda MatchSpecs and matches them against
// repodata records.
//
// Grammar (conda's match_spec.py, read by hand):
//
//	[channel[/subdir]::]name[ version[ build]][[key=value, …]]
//	name=version[=build]   name==version   name>=1,<2   name 1.2.* py311*
//
// A "#" comment and a " if …" condition are dropped. The build is the last
// word after a ' ' or '=' that is not part of an operator. "name=1.2"
// means 1.2.* (starts with), "name==1.2" and "name 1.2" mean exactly 1.2 in
// VersionOrder terms, "name=1.2=b" means version ==1.2 and build b. Names and
// builds may hold '*' globs; a build may be a "^…$" regular expression.
// Brackets override what is outside them (except the name) and accept
// version, build, build_number (3, >=3, …), channel, subdir, md5, sha256,
// fn, url, license, track_features and features; values may be quoted with
// ' or ". An unknown key is an error. A spec that is an artifact file name
// or URL (…/name-version-build.conda or .tar.bz2) matches that artifact.
//
// Names are lower-cased and hold only letters, digits, '-', '_' and '.'
// (plus '*' in patterns); a build holds no spaces, quotes, brackets or
// version operators. Every dependency string of the shared defaults and
// pytorch channels parses.
//
// Differences from conda, chosen to agree with rattler: "==1.2.*" means
// 1.2.* (conda warns and reads ==1.2); parentheses are version grouping,
// never conda's old "(optional)" annotations; feature specs ("name@") are
// refused.
//
// The package does no I/O and knows nothing of channels beyond their names.
package matchspec
