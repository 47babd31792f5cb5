/*-------------------------------------------------------------------------
 *
 * fuzz_driver.c
 *	  A seeded mutation loop for compilers without libFuzzer
 *
 * Usage: fuzz_driver CORPUS_DIR DICT_FILE SECONDS [SEED]
 *
 * Runs every corpus file through LLVMFuzzerTestOneInput, then, until
 * SECONDS have passed, mutated copies of them: byte flips and random bytes,
 * dictionary tokens inserted or written over, deleted, duplicated or
 * truncated ranges, big-endian integers set to boundary values, a new form
 * byte, and splices of two inputs.  The random sequence depends only on
 * SEED, so a failure can be replayed.  Without coverage feedback it finds
 * less than libFuzzer per second, which tools/fuzz.sh prefers when clang
 * provides it; the sanitizers are the same.
 *
 *-------------------------------------------------------------------------
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

extern int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_INPUT (1 << 18)
#define MAX_ITEMS 4096

typedef struct Item
{
	uint8_t    *data;
	size_t		len;
} Item;

static Item Corpus[MAX_ITEMS];
static int	NumCorpus = 0;
static Item Dict[MAX_ITEMS];
static int	NumDict = 0;
static uint64_t Rng;

static uint64_t
Next(void)
{
	uint64_t	z = (Rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static size_t
Below(size_t n)
{
	return n == 0 ? 0 : (size_t) (Next() % n);
}

static uint8_t *
ReadFile(const char *path, size_t *len)
{
	FILE	   *f = fopen(path, "rb");
	uint8_t    *buf;

	if (!f)
		return NULL;
	buf = malloc(FUZZ_MAX_INPUT);
	*len = fread(buf, 1, FUZZ_MAX_INPUT, f);
	fclose(f);
	return buf;
}

/* libFuzzer dictionary lines: name="value" with \xNN and \\ escapes */
static void
LoadDict(const char *path)
{
	FILE	   *f = fopen(path, "r");
	char		line[512];

	if (!f)
		return;
	while (fgets(line, sizeof(line), f) && NumDict < MAX_ITEMS)
	{
		char	   *q = strchr(line, '"');
		uint8_t    *out;
		size_t		n = 0;

		if (line[0] == '#' || !q)
			continue;
		out = malloc(strlen(q));
		for (q++; *q && *q != '"'; q++)
		{
			if (q[0] == '\\' && q[1] == 'x')
			{
				unsigned	v;

				sscanf(q + 2, "%2x", &v);
				out[n++] = (uint8_t) v;
				q += 3;
			}
			else if (q[0] == '\\' && q[1])
				out[n++] = (uint8_t) *++q;
			else
				out[n++] = (uint8_t) *q;
		}
		Dict[NumDict].data = out;
		Dict[NumDict++].len = n;
	}
	fclose(f);
}

/* Apply 1..4 random mutations to buf (length *len, capacity FUZZ_MAX_INPUT) */
static void
Mutate(uint8_t *buf, size_t *len)
{
	static const uint32_t Boundary[] = {0, 1, 2, 3, 0x7FFF, 0x8000, 0xFFFF, 15999, 16000, 16001,
		1000000000, 1000000001, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x3F800000, 0x7F800000,
	0x7FC00000, 0x3C00, 0x7C00, 0x7E00};
	int			n = 1 + (int) Below(4);

	for (int m = 0; m < n; m++)
	{
		size_t		at = Below(*len + 1);

		switch (Below(9))
		{
			case 0:				/* flip a bit */
				if (*len > 0)
					buf[Below(*len)] ^= (uint8_t) (1u << Below(8));
				break;
			case 1:				/* random byte */
				if (*len > 0)
					buf[Below(*len)] = (uint8_t) Next();
				break;
			case 2:				/* insert a token */
			case 3:				/* overwrite with a token */
				if (NumDict > 0)
				{
					Item	   *t = &Dict[Below(NumDict)];

					if (*len + t->len >= FUZZ_MAX_INPUT)
						break;
					if (Below(9) == 2 || at + t->len > *len)
					{
						memmove(buf + at + t->len, buf + at, *len - at);
						*len += t->len;
					}
					memcpy(buf + at, t->data, t->len);
				}
				break;
			case 4:				/* delete a range */
				if (at < *len)
				{
					size_t		k = 1 + Below(*len - at);

					memmove(buf + at, buf + at + k, *len - at - k);
					*len -= k;
				}
				break;
			case 5:				/* duplicate a range */
				if (at < *len)
				{
					size_t		k = 1 + Below(*len - at < 64 ? *len - at : 64);

					if (*len + k < FUZZ_MAX_INPUT)
					{
						memmove(buf + at + k, buf + at, *len - at);
						*len += k;
					}
				}
				break;
			case 6:				/* truncate */
				*len = at;
				break;
			case 7:				/* a big-endian boundary integer */
				{
					uint32_t	v = Boundary[Below(sizeof(Boundary) / sizeof(Boundary[0]))];
					int			size = Below(2) ? 4 : 2;

					if (at + size <= *len)
						for (int i = 0; i < size; i++)
							buf[at + i] = (uint8_t) (v >> (8 * (size - 1 - i)));
				}
				break;
			default:			/* another form / typmod byte */
				if (*len > 0)
					buf[0] = (uint8_t) Next();
				break;
		}
	}
}

int
main(int argc, char **argv)
{
	DIR		   *dir;
	struct dirent *de;
	double		seconds;
	time_t		start = time(NULL);
	long		runs = 0;
	uint8_t    *buf = malloc(FUZZ_MAX_INPUT);

	if (argc < 4)
	{
		fprintf(stderr, "usage: %s CORPUS_DIR DICT_FILE SECONDS [SEED]\n", argv[0]);
		return 2;
	}
	seconds = atof(argv[3]);
	Rng = argc > 4 ? strtoull(argv[4], NULL, 10) : 1;
	LoadDict(argv[2]);

	dir = opendir(argv[1]);
	if (!dir)
	{
		perror(argv[1]);
		return 2;
	}
	while ((de = readdir(dir)) != NULL && NumCorpus < MAX_ITEMS)
	{
		char		path[4096];
		size_t		len;
		uint8_t    *data;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", argv[1], de->d_name);
		if ((data = ReadFile(path, &len)) == NULL)
			continue;
		Corpus[NumCorpus].data = data;
		Corpus[NumCorpus++].len = len;
		LLVMFuzzerTestOneInput(data, len);
		runs++;
	}
	closedir(dir);
	if (NumCorpus == 0)
	{
		fprintf(stderr, "no corpus files in %s\n", argv[1]);
		return 2;
	}

	while (difftime(time(NULL), start) < seconds)
	{
		for (int i = 0; i < 1000; i++)
		{
			Item	   *a = &Corpus[Below(NumCorpus)];
			size_t		len = a->len;

			memcpy(buf, a->data, len);
			if (Below(8) == 0)
			{
				Item	   *b = &Corpus[Below(NumCorpus)];	/* splice */
				size_t		cut = Below(len + 1);
				size_t		from = Below(b->len + 1);
				size_t		k = b->len - from;

				if (cut + k < FUZZ_MAX_INPUT)
				{
					memcpy(buf + cut, b->data + from, k);
					len = cut + k;
				}
			}
			Mutate(buf, &len);
			LLVMFuzzerTestOneInput(buf, len);
			runs++;
		}
	}
	printf("fuzz_driver: %ld inputs in %.0f s, no failure\n", runs, difftime(time(NULL), start));
	free(buf);
	for (int i = 0; i < NumCorpus; i++)
		free(Corpus[i].data);
	for (int i = 0; i < NumDict; i++)
		free(Dict[i].data);
	return 0;
}
