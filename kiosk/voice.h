/* voice.h — spoken prompts: plays WAV files one after another through SDL audio (SDL2's queue API).
 *
 * One sequence at a time: voice_play() stops what is playing and queues the new files, each converted to the
 * device's format, with a short pause between them. A kiosk without a sound device works silently:
 * voice_open() returns NULL and says why, and the app turns the "Nghe" button off and logs it. */
#ifndef KIOSK_VOICE_H
#define KIOSK_VOICE_H

#include <stdbool.h>
#include <stddef.h>

typedef struct Voice Voice;

#define VOICE_GAP_MS 250 /* silence between two prompts of a sequence */

/* Opens the default sound device (initialising SDL's audio subsystem). NULL with msg filled when there is
 * none or it cannot be opened. */
Voice *voice_open(char *msg, size_t msg_len);
void   voice_close(Voice *v);

/* Stops what is playing, then plays paths[0..n) in order. A file that cannot be read or converted is left
 * out and named in msg (""  when every file played); the others still play. n == 0 only stops. */
void voice_play(Voice *v, const char *const *paths, size_t n, char *msg, size_t msg_len);
/* Milliseconds of sound still queued. */
unsigned voice_queued_ms(const Voice *v);
/* The device's driver name ("pulseaudio", "alsa", "dummy", ...), for the log. */
const char *voice_driver(const Voice *v);

#endif
