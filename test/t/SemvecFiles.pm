# Byte-exact file helpers shared by semvec's TAP tests (tools/tap.sh puts
# test/t on @INC).
package SemvecFiles;

use strict;
use warnings;
use Exporter 'import';

our @EXPORT = qw(slurp spew);

# Whole file as raw bytes
sub slurp
{
	my ($path) = @_;
	open(my $fh, '<:raw', $path) or die "$path: $!";
	local $/;
	my $d = <$fh>;
	close $fh;
	return $d;
}

# Write raw bytes to a file, replacing it
sub spew
{
	my ($path, $data) = @_;
	open(my $fh, '>:raw', $path) or die "$path: $!";
	print $fh $data;
	close $fh;
}

1;
