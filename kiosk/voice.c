/* voice.c — spoken prompts through SDL audio. See voice.h.
 *
 * The device is opened once in the format the voice files are made in (espeak-ng: 22,050 Hz, 16-bit, mono)
 * but SDL may give another; each file is converted with SDL_AudioCVT to what the device took, then queued
 * with SDL_QueueAudio, so no callback runs in our code and stopping is SDL_ClearQueuedAudio. */
#include "kiosk/voice.h"

#include <SDL2/SDL.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct Voice {
    SDL_AudioDeviceID dev;
    SDL_AudioSpec     have;
    char              driver[32];
};

Voice *voice_open(char *msg, size_t msg_len)
{
    if(SDL_InitSubSystem(SDL_INIT_AUDIO) != 0) {
        snprintf(msg, msg_len, "no sound: %s", SDL_GetError());
        return NULL;
    }
    SDL_AudioSpec want = {.freq = 22050, .format = AUDIO_S16SYS, .channels = 1, .samples = 2048};
    Voice *v = calloc(1, sizeof *v);
    if(!v) {
        snprintf(msg, msg_len, "out of memory");
        SDL_QuitSubSystem(SDL_INIT_AUDIO);
        return NULL;
    }
    v->dev = SDL_OpenAudioDevice(NULL, 0, &want, &v->have, SDL_AUDIO_ALLOW_ANY_CHANGE);
    if(!v->dev) {
        snprintf(msg, msg_len, "no sound device: %s", SDL_GetError());
        free(v);
        SDL_QuitSubSystem(SDL_INIT_AUDIO);
        return NULL;
    }
    const char *d = SDL_GetCurrentAudioDriver();
    snprintf(v->driver, sizeof v->driver, "%s", d ? d : "?");
    SDL_PauseAudioDevice(v->dev, 0);
    msg[0] = '\0';
    return v;
}

void voice_close(Voice *v)
{
    if(!v)
        return;
    SDL_CloseAudioDevice(v->dev);
    SDL_QuitSubSystem(SDL_INIT_AUDIO);
    free(v);
}

const char *voice_driver(const Voice *v) { return v ? v->driver : "none"; }

/* Queues one WAV file converted to the device's format; false when it cannot be read or converted. */
static bool queue_file(Voice *v, const char *path)
{
    SDL_AudioSpec spec;
    Uint8 *buf = NULL;
    Uint32 len = 0;
    if(!SDL_LoadWAV(path, &spec, &buf, &len))
        return false;
    SDL_AudioCVT cvt;
    int rc = SDL_BuildAudioCVT(&cvt, spec.format, spec.channels, spec.freq, v->have.format, v->have.channels,
                               v->have.freq);
    bool ok = rc >= 0;
    if(ok && rc > 0) { /* conversion needed: in place, in a buffer big enough for the result */
        cvt.len = (int)len;
        cvt.buf = SDL_malloc((size_t)len * (size_t)cvt.len_mult);
        ok = cvt.buf && (memcpy(cvt.buf, buf, len), SDL_ConvertAudio(&cvt) == 0) &&
             SDL_QueueAudio(v->dev, cvt.buf, (Uint32)cvt.len_cvt) == 0;
        SDL_free(cvt.buf);
    } else if(ok) {
        ok = SDL_QueueAudio(v->dev, buf, len) == 0;
    }
    SDL_FreeWAV(buf);
    return ok;
}

static void queue_silence(Voice *v, unsigned ms)
{
    size_t frame = (size_t)SDL_AUDIO_BITSIZE(v->have.format) / 8 * v->have.channels;
    size_t n = (size_t)v->have.freq * ms / 1000 * frame;
    void *z = malloc(n);
    if(z) {
        memset(z, v->have.silence, n); /* the device format's silence (0x80 for unsigned 8-bit) */
        SDL_QueueAudio(v->dev, z, (Uint32)n);
        free(z);
    }
}

void voice_play(Voice *v, const char *const *paths, size_t n, char *msg, size_t msg_len)
{
    if(msg_len)
        msg[0] = '\0';
    if(!v)
        return;
    SDL_ClearQueuedAudio(v->dev);
    for(size_t i = 0; i < n; i++) {
        if(i > 0)
            queue_silence(v, VOICE_GAP_MS);
        if(!queue_file(v, paths[i])) {
            size_t l = strlen(msg);
            if(l < msg_len)
                snprintf(msg + l, msg_len - l, "%scannot play %s: %s", l ? "; " : "", paths[i], SDL_GetError());
        }
    }
}

unsigned voice_queued_ms(const Voice *v)
{
    if(!v)
        return 0;
    size_t frame = (size_t)SDL_AUDIO_BITSIZE(v->have.format) / 8 * v->have.channels;
    return (unsigned)(SDL_GetQueuedAudioSize(v->dev) / frame * 1000 / (size_t)v->have.freq);
}
