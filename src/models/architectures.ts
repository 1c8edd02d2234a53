/**
 * Every architecture, registered by importing its file: adding one is its file plus a line here.
 * Import this module (or models/index) before looking an architecture up by name.
 */
import './srcnn';
import './srresnet';
import './fsrcnn';
