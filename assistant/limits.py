"""Input limits shared by every route (CLI, chat, /ask API, quiz, feedback): one place to change them."""

# The query embedding's time grows faster than the length (measured: 258 ms at 300 characters, 6.6 s at 1,000);
# the longest question of the eval set is 42 characters.
MAX_QUESTION_CHARS = 300
