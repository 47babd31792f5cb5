
-- ===================================================================
-- RAG: chunking, ingestion and retrieval (docs/rag.md)
-- ===================================================================

-- chunk_words(): sentence-aware chunks under a budget of words
CREATE FUNCTION chunk_words(doc text, max_words int, overlap_words int DEFAULT 0,
                            locale text DEFAULT 'en')
	RETURNS TABLE(ord int, chunk text, char_start int, char_end int, n_tokens int)
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 10;
COMMENT ON FUNCTION chunk_words(text, int, int, text) IS
	'split text into chunks of whole sentences of at most max_words words (ICU sentence and word boundaries)';

-- chunk_chars(): LangChain RecursiveCharacterTextSplitter
CREATE FUNCTION chunk_chars(doc text, size int, overlap int DEFAULT 0)
	RETURNS TABLE(ord int, chunk text, char_start int, char_end int, n_tokens int)
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 10;
COMMENT ON FUNCTION chunk_chars(text, int, int) IS
	'split text recursively at paragraphs, lines, sentence ends, spaces and characters into chunks of at most size characters';
