#!/usr/bin/perl
# SPDX-License-Identifier: BSD-3-Clause
# A small city database in the MaxMind DB format, for the tests of
# geoip_database (doc/design.md, "Location"): make_mmdb.pl OUT.mmdb [EPOCH]
#   127.0.0.1/32  DE Berlin      127.0.0.2/32  FR Paris
#   127.0.0.3/32  NL, with terminal escapes in the names (what a hostile
#                 file could hold)   127.0.0.4/32 a country code that is not one
#   127.0.0.5/32  IT, a 300-character city name
#   10.9.0.0/16   US, no city    2001:db8::/32 JP Tokyo
# remove_reserved_networks => 0: loopback and documentation networks are
# what the tests can log in from.  EPOCH (optional) is the build time in
# the metadata, for the doctor's check of a stale database.
use strict;
use warnings;
use MaxMind::DB::Writer::Tree;

my ($out, $epoch) = @ARGV;
die "usage: make_mmdb.pl OUT.mmdb [EPOCH]\n" unless defined $out;

my %types = (
        city      => 'map',
        country   => 'map',
        geoname_id => 'uint32',
        iso_code  => 'utf8_string',
        names     => 'map',
        en        => 'utf8_string',
        fr        => 'utf8_string',
);

my $tree = MaxMind::DB::Writer::Tree->new(
        ip_version               => 6,
        record_size              => 24,
        database_type            => 'GeoLite2-City',
        languages                => ['en'],
        description              => { en => 'acctsec test database' },
        remove_reserved_networks => 0,
        map_key_type_callback    => sub { $types{ $_[0] } // die "no type for key $_[0]\n" },
);

sub place {
        my ($iso, $country, $city) = @_;
        my %r = (country => { iso_code => $iso, names => { en => $country } });
        $r{city} = { names => { en => $city } } if defined $city;
        return \%r;
}

$tree->insert_network('127.0.0.1/32', place('DE', 'Germany', 'Berlin'));
$tree->insert_network('127.0.0.2/32', place('FR', 'France', 'Paris'));
$tree->insert_network('127.0.0.3/32', place('NL', "Evil\x{1b}[31mland", "Bad\x{1b}]0;pwned\x{7}City\x{202e}\x{9b}"));
$tree->insert_network('127.0.0.4/32', place("X\x{7f}", 'Nowhere', 'Nocity'));
$tree->insert_network('127.0.0.5/32', place('IT', 'Italy', 'A' x 300));
$tree->insert_network('10.9.0.0/16', place('US', 'United States'));
$tree->insert_network('2001:db8::/32', place('JP', 'Japan', 'Tokyo'));

open(my $fh, '>:raw', "$out.tmp") or die "make_mmdb.pl: $out.tmp: $!\n";
$tree->_set_build_epoch($epoch) if defined $epoch;
$tree->write_tree($fh);
close($fh) or die "make_mmdb.pl: $out.tmp: $!\n";
rename("$out.tmp", $out) or die "make_mmdb.pl: $out: $!\n";
