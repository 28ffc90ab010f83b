#!/usr/bin/perl
# dkim-verify.pl - verify every DKIM-Signature of a message with Mail::DKIM.
#
# Usage: dkim-verify.pl --dns ADDR[:PORT] [--timeout SECONDS]
#                       [--allow-unsupported] FILE|-
#
# Keys are fetched ONLY from the DNS server at ADDR:PORT (port 53 by
# default): Mail::DKIM::DNS::resolver() is given a Net::DNS::Resolver with
# that single name server, recursion off and no search list, so the
# servers in /etc/resolv.conf are never asked.
#
# For each DKIM-Signature header field, top to bottom, one line on stdout:
#
#     mail-dkim: pass d=DOMAIN s=SELECTOR a=ALGORITHM
#     mail-dkim: fail d=DOMAIN s=SELECTOR a=ALGORITHM: RESULT (DETAILS)
#     mail-dkim: skip d=DOMAIN s=SELECTOR a=ALGORITHM: unsupported algorithm ...
#
# and "mail-dkim: none: no DKIM-Signature" when there is none.  RESULT is
# Mail::DKIM's per-signature result ("fail", "invalid", "temperror"...).
#
# Exit status: 0 every signature passed and there is at least one; 1
# otherwise; 2 usage or I/O error.
#
# Ed25519: the Mail::DKIM in Debian 12 (1.20230212) implements only
# rsa-sha256 and rsa-sha1 (Mail::DKIM::Algorithm::*; get_algorithm_class()
# knows no ed25519-sha256), so an ed25519-sha256 signature comes out as
# "invalid (unsupported algorithm ed25519-sha256)" - reported as "fail",
# or, with --allow-unsupported, as "skip", which then does not count: the
# exit status is 0 if every other signature passed and at least one passed.
#
# The message may have LF or CRLF line ends; Mail::DKIM wants CRLF, bare LFs
# are converted.

use strict;
use warnings;
use Getopt::Long qw(GetOptions);
use Net::DNS;
use Mail::DKIM::DNS;
use Mail::DKIM::Verifier;

my ($server, $timeout, $allow_unsupported) = (undef, 5, 0);
sub usage {
    print STDERR "usage: dkim-verify.pl --dns ADDR[:PORT] [--timeout S]"
      . " [--allow-unsupported] FILE|-\n";
    exit 2;
}
GetOptions(
    'dns=s'             => \$server,
    'timeout=i'         => \$timeout,
    'allow-unsupported' => \$allow_unsupported,
) or usage();
usage() unless defined $server && @ARGV == 1;

my ($addr, $port);
if ($server =~ /^\[([^\]]+)\](?::(\d+))?$/) {
    ($addr, $port) = ($1, $2 // 53);
} elsif ($server =~ /^([^:]+)(?::(\d+))?$/) {
    ($addr, $port) = ($1, $2 // 53);
} else {
    usage();
}

my $res = Net::DNS::Resolver->new(
    nameservers => [$addr],
    port        => $port,
    recurse     => 0,
    defnames    => 0,
    dnsrch      => 0,
    udp_timeout => $timeout,
    tcp_timeout => $timeout,
    retry       => 2,
    retrans     => 1,
);
Mail::DKIM::DNS::resolver($res);
$Mail::DKIM::DNS::TIMEOUT = 2 * $timeout + 1;

my $file = $ARGV[0];
my $fh;
if ($file eq '-') {
    $fh = \*STDIN;
} else {
    open($fh, '<:raw', $file) or do {
        print STDERR "dkim-verify.pl: $file: $!\n";
        exit 2;
    };
}
binmode $fh;
my $msg = do { local $/; <$fh> };
unless (defined $msg) {
    print STDERR "dkim-verify.pl: cannot read $file\n";
    exit 2;
}
$msg =~ s/\r?\n/\r\n/g;

my $dkim = Mail::DKIM::Verifier->new();
$dkim->PRINT($msg);
$dkim->CLOSE();

# DomainKeys (DkSignature, a subclass) are not DKIM: leave them out.
my @sigs = grep { ref($_) eq 'Mail::DKIM::Signature' } $dkim->signatures;
unless (@sigs) {
    print "mail-dkim: none: no DKIM-Signature\n";
    exit 1;
}

my ($pass, $bad) = (0, 0);
for my $sig (@sigs) {
    my $tags = sprintf 'd=%s s=%s a=%s',
      map { defined $_ ? $_ : '?' } $sig->domain, $sig->selector,
      $sig->algorithm;
    my $result = $sig->result // 'none';
    my $detail = $sig->result_detail // $result;
    if ($result eq 'pass') {
        $pass++;
        print "mail-dkim: pass $tags\n";
    } elsif ($allow_unsupported && $detail =~ /\bunsupported algorithm\b/) {
        $detail =~ s/^\w+ \((.*)\)$/$1/;
        print "mail-dkim: skip $tags: $detail\n";
    } else {
        $bad++;
        print "mail-dkim: fail $tags: $detail\n";
    }
}
exit(($bad == 0 && $pass > 0) ? 0 : 1);
